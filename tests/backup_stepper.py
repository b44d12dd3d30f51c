"""Child process for the killed-backup test: ``fieldapp ARGS`` with every file step of ``backup.create`` announced.

Usage: python backup_stepper.py STEP_FD GO_FD ARGS...  (ARGS as for ``python -m fieldapp``, e.g. ``backup --user sup
--out FILE``). Before each step that touches the disk (making the work folder, the snapshot, each copy and
checksum, each zip member, closing the zip, fsync, the rename, the folder fsync) and once ``backup.create``
has returned, it writes the step's name and a newline to STEP_FD and waits for one byte on GO_FD: the
parent either lets it go on or kills it (SIGKILL) right there, so a kill lands at a known point, the same
on an idle and on a busy machine. Only this process is instrumented; the product code is unchanged.
"""

from __future__ import annotations

import os
import shutil
import sys
import zipfile
from pathlib import Path

from fieldapp.store import backup

STEP_FD, GO_FD = int(sys.argv[1]), int(sys.argv[2])


def step(name: str) -> None:
    os.write(STEP_FD, name.encode() + b"\n")
    if os.read(GO_FD, 1) != b"g":  # the parent went away
        os._exit(3)


def announced(func, label):
    def wrapper(*args, **kw):
        step(label(*args))
        return func(*args, **kw)

    return wrapper


def named(fn: str):
    return lambda *args: f"{fn} {Path(args[0]).name}"


class Module:
    """A module with some of its functions replaced (only as seen from ``fieldapp.store.backup``)."""

    def __init__(self, module, **replaced):
        self._module, self._replaced = module, replaced

    def __getattr__(self, name):
        return self._replaced[name] if name in self._replaced else getattr(self._module, name)


class SteppedZip(zipfile.ZipFile):
    def writestr(self, name, *args, **kw):
        step(f"zip.writestr {name}")
        return super().writestr(name, *args, **kw)

    def write(self, filename, arcname=None, *args, **kw):
        step(f"zip.write {arcname or Path(filename).name}")
        return super().write(filename, arcname, *args, **kw)

    def close(self):
        if self.fp is not None:  # also called again by __del__
            step("zip.close")
        return super().close()


def instrument() -> None:
    backup.secure_dir = announced(backup.secure_dir, lambda *a: "secure_dir")  # the work folder's name is random
    backup.create_private = announced(backup.create_private, named("create_private"))
    backup.open_encrypted = announced(backup.open_encrypted, named("snapshot"))
    backup._sha256 = announced(backup._sha256, named("sha256"))
    backup.fsync_dir = announced(backup.fsync_dir, named("fsync_dir"))
    backup.shutil = Module(shutil, copyfile=announced(shutil.copyfile, named("copyfile")))
    backup.os = Module(os, fsync=announced(os.fsync, lambda *a: "fsync"),
                       replace=announced(os.replace, lambda *a: "replace"))
    backup.zipfile = Module(zipfile, ZipFile=SteppedZip)
    create = backup.create

    def stepped_create(*args, **kw):
        step("create")
        manifest = create(*args, **kw)
        step("returned")
        return manifest

    backup.create = stepped_create


if __name__ == "__main__":
    instrument()
    from fieldapp.cli.main import main

    sys.exit(main(sys.argv[3:]))
