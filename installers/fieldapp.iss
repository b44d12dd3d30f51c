; Inno Setup 6 script: the per-machine Windows installer of fieldapp.
;
;   ISCC.exe /DAppVersion=0.1.0 /DSourceDir=..\dist\bundle\fieldapp /DOutputDir=..\dist installers\fieldapp.iss
;
; (build-windows.ps1 runs it). Silent install for IT, with a provisioning file:
;   fieldapp-0.1.0-setup.exe /VERYSILENT /SUPPRESSMSGBOXES /NORESTART /PROVISION=C:\path\provisioning.json
; The file is checked with the installed program (signature, trusted IT key) before it is copied to
; %ProgramData%\fieldapp\provisioning.json, which each user's first start applies. A refused file fails the
; install with exit code 10 (the program stays installed; nothing is provisioned).
; Uninstall keeps every data folder unless asked: interactively (a question, default No) or /PURGEDATA.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#ifndef SourceDir
  #define SourceDir "..\dist\bundle\fieldapp"
#endif
#ifndef OutputDir
  #define OutputDir "..\dist"
#endif

[Setup]
AppId={{5E0C8A2D-6B1F-4C7A-9F3E-2D8B1A4C6E70}
AppName=fieldapp
AppVersion={#AppVersion}
AppVerName=fieldapp {#AppVersion}
AppPublisher=National Social Security Fund
DefaultDirName={autopf}\fieldapp
DefaultGroupName=fieldapp
DisableProgramGroupPage=yes
PrivilegesRequired=admin
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename=fieldapp-{#AppVersion}-setup
SetupIconFile=..\resources\icons\fieldapp.ico
UninstallDisplayIcon={app}\fieldapp.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes
SetupLogging=yes

[Languages]
Name: "en"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Dirs]
Name: "{commonappdata}\fieldapp"; Permissions: users-readexec

[Icons]
Name: "{autoprograms}\fieldapp"; Filename: "{app}\fieldapp.exe"; Comment: "Enroll workers into the social security fund"
Name: "{autodesktop}\fieldapp"; Filename: "{app}\fieldapp.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\fieldapp.exe"; Description: "{cm:LaunchProgram,fieldapp}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; the program folder only; data folders are handled in [Code] below
Type: filesandordirs; Name: "{app}\_internal"

[Code]
var
  ProvisionFailed: Boolean;

function ProvisionFile: String;
begin
  Result := ExpandConstant('{param:PROVISION|}');
end;

function InitializeSetup: Boolean;
begin
  Result := True;
  ProvisionFailed := False;
  if (ProvisionFile <> '') and not FileExists(ProvisionFile) then
  begin
    SuppressibleMsgBox('The provisioning file ' + ProvisionFile + ' does not exist.', mbCriticalError, MB_OK, IDOK);
    Result := False;
  end;
end;

procedure Provision;
var
  Code: Integer;
  Target: String;
begin
  Target := ExpandConstant('{commonappdata}\fieldapp\provisioning.json');
  { the installed program checks the signature against the IT key built into it }
  if not Exec(ExpandConstant('{app}\fieldapp-cli.exe'), 'provision --check "' + ProvisionFile + '"', '',
              SW_HIDE, ewWaitUntilTerminated, Code) or (Code <> 0) then
  begin
    ProvisionFailed := True;
    Log('fieldapp: provisioning file refused (exit code ' + IntToStr(Code) + ')');
    SuppressibleMsgBox('The provisioning file was refused (not signed by the trusted IT key, or changed). ' +
                       'fieldapp is installed but not provisioned.', mbError, MB_OK, IDOK);
    exit;
  end;
  if not FileCopy(ProvisionFile, Target, False) then
  begin
    ProvisionFailed := True;
    Log('fieldapp: could not copy the provisioning file');
  end;
end;

procedure CurStepChanged(CurStep: TSetupStep);
var
  Code: Integer;
begin
  if CurStep = ssPostInstall then
  begin
    if Exec(ExpandConstant('{app}\fieldapp-cli.exe'), '--self-test', '', SW_HIDE, ewWaitUntilTerminated, Code) then
      Log('fieldapp: self-test exit code ' + IntToStr(Code));
    if ProvisionFile <> '' then
      Provision;
  end;
end;

function GetCustomSetupExitCode: Integer;
begin
  if ProvisionFailed then
    Result := 10
  else
    Result := 0;
end;

function PurgeRequested: Boolean;
begin
  Result := Pos('/PURGEDATA', Uppercase(GetCmdTail)) > 0;
  if (not Result) and (not UninstallSilent) then
    Result := MsgBox('Also delete the fieldapp data folder of this Windows account (' +
                     ExpandConstant('{localappdata}\fieldapp') + ')?' + #13#10 +
                     'Records not yet sent to the registry would be lost. Choose No to keep it.',
                     mbConfirmation, MB_YESNO or MB_DEFBUTTON2) = IDYES;
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if CurUninstallStep = usPostUninstall then
  begin
    if PurgeRequested then
    begin
      DelTree(ExpandConstant('{localappdata}\fieldapp'), True, True, True);
      DelTree(ExpandConstant('{commonappdata}\fieldapp'), True, True, True);
    end;
  end;
end;
