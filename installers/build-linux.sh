#!/usr/bin/env bash
# Build fieldapp for Linux: the one-folder bundle, a tarball and a .deb (Debian/Ubuntu, amd64 or arm64).
#
#   installers/build-linux.sh [--out DIR] [--it-key FILE] [--skip-build] [--compress xz|gzip]
#
# --out        where everything goes (default: dist/): bundle/fieldapp/ (the one-folder build),
#              fieldapp-VERSION-linux-ARCH.tar.gz and fieldapp_VERSION_ARCH.deb
# --it-key     the IT provisioning public key to trust (default: installers/it-provisioning-public-key.json if present)
# --skip-build package an existing OUT/bundle/fieldapp without running PyInstaller again
# --compress   .deb compression (default xz: smallest download; gzip builds faster)
# Needs: the project's .venv with PyInstaller (requirements-dev.txt), binutils (objdump) and dpkg-deb.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/dist
PY=${PYTHON:-$ROOT/.venv/bin/python}
SKIP=0
IT_KEY=""
COMPRESS=xz
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$(mkdir -p "$2" && cd "$2" && pwd); shift 2 ;;
    --it-key) IT_KEY=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift 2 ;;
    --skip-build) SKIP=1; shift ;;
    --compress) COMPRESS=$2; shift 2 ;;
    *) echo "build-linux.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
command -v objdump >/dev/null || { echo "build-linux.sh: objdump missing: apt-get install binutils" >&2; exit 1; }
command -v dpkg-deb >/dev/null || { echo "build-linux.sh: dpkg-deb missing" >&2; exit 1; }
VERSION=$(PYTHONPATH=$ROOT "$PY" -c 'import fieldapp; print(fieldapp.__version__)')
ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)
DIST=$OUT/bundle
mkdir -p "$OUT"

if [ "$SKIP" = 0 ]; then
  FIELDAPP_BUILD_IT_KEY=$IT_KEY FIELDAPP_BUILD_VERSION=$VERSION "$PY" -m PyInstaller --noconfirm --log-level WARN \
    --distpath "$DIST" --workpath "$OUT/work" "$ROOT/installers/fieldapp.spec"
fi
[ -x "$DIST/fieldapp/fieldapp" ] || { echo "build-linux.sh: no bundle in $DIST/fieldapp" >&2; exit 1; }

# tarball: unpack anywhere, run ./fieldapp/fieldapp
TARBALL=$OUT/fieldapp-$VERSION-linux-$ARCH.tar.gz
tar -C "$DIST" --sort=name --owner=0 --group=0 --numeric-owner -czf "$TARBALL" fieldapp

# .deb: /opt/fieldapp, /usr/bin/fieldapp, a desktop entry and the icon
PKG=$OUT/deb-root
rm -rf "$PKG"
mkdir -p "$PKG/DEBIAN" "$PKG/opt" "$PKG/usr/bin" "$PKG/usr/share/applications" "$PKG/usr/share/doc/fieldapp" \
  "$PKG/usr/share/icons/hicolor/256x256/apps" "$PKG/usr/share/icons/hicolor/scalable/apps"
cp -a "$DIST/fieldapp" "$PKG/opt/fieldapp"
ln -s /opt/fieldapp/fieldapp "$PKG/usr/bin/fieldapp"
install -m 644 "$ROOT/installers/debian/fieldapp.desktop" "$PKG/usr/share/applications/fieldapp.desktop"
install -m 644 "$ROOT/resources/icons/fieldapp.png" "$PKG/usr/share/icons/hicolor/256x256/apps/fieldapp.png"
install -m 644 "$ROOT/resources/icons/fieldapp.svg" "$PKG/usr/share/icons/hicolor/scalable/apps/fieldapp.svg"
install -m 755 "$ROOT/installers/debian/postinst" "$PKG/DEBIAN/postinst"
install -m 755 "$ROOT/installers/debian/postrm" "$PKG/DEBIAN/postrm"
printf 'fieldapp %s\nSee docs/deploy.md in the source for installation, provisioning and upgrades.\n' "$VERSION" \
  > "$PKG/usr/share/doc/fieldapp/README"
SIZE=$(du -sk --exclude=DEBIAN "$PKG" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@SIZE@/$SIZE/" \
  "$ROOT/installers/debian/control.in" > "$PKG/DEBIAN/control"
DEB=$OUT/fieldapp_${VERSION}_${ARCH}.deb
dpkg-deb --root-owner-group -Z"$COMPRESS" --build "$PKG" "$DEB" >/dev/null
rm -rf "$PKG"
echo "bundle:  $DIST/fieldapp"
echo "tarball: $TARBALL"
echo "deb:     $DEB"
