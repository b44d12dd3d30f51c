#!/usr/bin/env bash
# Build fieldapp for macOS: dist/bundle/fieldapp.app (bundle id kh.gov.nssf.fieldapp, high-resolution capable)
# and a disk image dist/fieldapp-VERSION-macos.dmg. Run on a Mac (the .app is built for that Mac's architecture).
#
#   installers/build-macos.sh [--out DIR] [--it-key FILE] [--sign "Developer ID Application: ..."]
#
# Needs: the project's .venv with PyInstaller (requirements-dev.txt), Xcode command-line tools (sips, iconutil,
# hdiutil, codesign). Without --sign the app is unsigned: Gatekeeper then asks users to open it with
# right-click > Open; notarisation needs an Apple Developer ID (see docs/deploy.md).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/dist
PY=${PYTHON:-$ROOT/.venv/bin/python}
IT_KEY=""
SIGN=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$(mkdir -p "$2" && cd "$2" && pwd); shift 2 ;;
    --it-key) IT_KEY=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift 2 ;;
    --sign) SIGN=$2; shift 2 ;;
    *) echo "build-macos.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ "$(uname)" = Darwin ] || { echo "build-macos.sh: run this on macOS" >&2; exit 1; }
VERSION=$(PYTHONPATH=$ROOT "$PY" -c 'import fieldapp; print(fieldapp.__version__)')
mkdir -p "$OUT"

# the icon: resources/icons/fieldapp.png -> fieldapp.icns
ICONSET=$OUT/fieldapp.iconset
rm -rf "$ICONSET" && mkdir -p "$ICONSET"
for size in 16 32 128 256; do
  sips -z $size $size "$ROOT/resources/icons/fieldapp.png" --out "$ICONSET/icon_${size}x${size}.png" >/dev/null
  sips -z $((size * 2)) $((size * 2)) "$ROOT/resources/icons/fieldapp.png" --out "$ICONSET/icon_${size}x${size}@2x.png" >/dev/null
done
iconutil -c icns "$ICONSET" -o "$OUT/fieldapp.icns"

FIELDAPP_BUILD_IT_KEY=$IT_KEY FIELDAPP_BUILD_VERSION=$VERSION FIELDAPP_BUILD_ICNS=$OUT/fieldapp.icns \
  "$PY" -m PyInstaller --noconfirm --log-level WARN --distpath "$OUT/bundle" --workpath "$OUT/work" \
  "$ROOT/installers/fieldapp.spec"
APP=$OUT/bundle/fieldapp.app
QT_QPA_PLATFORM=offscreen "$APP/Contents/MacOS/fieldapp-cli" --self-test

if [ -n "$SIGN" ]; then
  codesign --force --deep --options runtime --timestamp --sign "$SIGN" "$APP"
  codesign --verify --deep --strict "$APP"
fi
DMG=$OUT/fieldapp-$VERSION-macos.dmg
rm -f "$DMG"
hdiutil create -volname fieldapp -srcfolder "$APP" -ov -format UDZO "$DMG" >/dev/null
echo "app: $APP"
echo "dmg: $DMG"
