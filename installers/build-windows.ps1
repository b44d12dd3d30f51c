# Build fieldapp for Windows: the one-folder bundle (fieldapp.exe windowed, fieldapp-cli.exe console) and the
# Inno Setup installer dist\fieldapp-VERSION-setup.exe. Run from PowerShell on a Windows build machine:
#
#   powershell -ExecutionPolicy Bypass -File installers\build-windows.ps1 [-Out dist] [-ItKey FILE] [-SkipBuild]
#
# Needs: Python 3.11+ with the project's .venv (python -m venv .venv; .venv\Scripts\pip install -r
# requirements-dev.txt; .venv\Scripts\pip install --no-deps -e .) and Inno Setup 6 (ISCC.exe).
# -ItKey defaults to installers\it-provisioning-public-key.json when that file exists.
param(
    [string]$Out = "dist",
    [string]$ItKey = "",
    [switch]$SkipBuild,
    [string]$Python = "",
    [string]$Iscc = ""
)
$ErrorActionPreference = "Stop"
$Root = Split-Path -Parent $PSScriptRoot
if (-not $Python) { $Python = Join-Path $Root ".venv\Scripts\python.exe" }
if (-not [System.IO.Path]::IsPathRooted($Out)) { $Out = Join-Path $Root $Out }
New-Item -ItemType Directory -Force -Path $Out | Out-Null
$Spec = Join-Path $Root "installers\fieldapp.spec"
$IssFile = Join-Path $Root "installers\fieldapp.iss"
$Icon = Join-Path $Root "resources\icons\fieldapp.ico"
foreach ($f in @($Spec, $IssFile, $Icon)) { if (-not (Test-Path $f)) { throw "missing $f" } }

$env:PYTHONPATH = $Root
$Version = & $Python -c "import fieldapp; print(fieldapp.__version__)"
$Bundle = Join-Path $Out "bundle\fieldapp"

if (-not $SkipBuild) {
    if ($ItKey) { $env:FIELDAPP_BUILD_IT_KEY = (Resolve-Path $ItKey).Path }
    $env:FIELDAPP_BUILD_VERSION = $Version
    & $Python -m PyInstaller --noconfirm --log-level WARN --distpath (Join-Path $Out "bundle") `
        --workpath (Join-Path $Out "work") $Spec
    if ($LASTEXITCODE -ne 0) { throw "PyInstaller failed" }
}

# the installed program must pass its own check before it is packaged
$env:QT_QPA_PLATFORM = "offscreen"
& (Join-Path $Bundle "fieldapp-cli.exe") --self-test
if ($LASTEXITCODE -ne 0) { throw "self-test of the bundle failed" }
Remove-Item Env:QT_QPA_PLATFORM

if (-not $Iscc) {
    $candidates = @("${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe", "$env:ProgramFiles\Inno Setup 6\ISCC.exe")
    $Iscc = $candidates | Where-Object { Test-Path $_ } | Select-Object -First 1
}
if (-not $Iscc) { throw "Inno Setup 6 (ISCC.exe) not found: install it or pass -Iscc PATH" }
& $Iscc "/DAppVersion=$Version" "/DSourceDir=$Bundle" "/DOutputDir=$Out" $IssFile
if ($LASTEXITCODE -ne 0) { throw "ISCC failed" }
Write-Host "installer: $(Join-Path $Out "fieldapp-$Version-setup.exe")"
