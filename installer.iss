; Inno Setup script for the Windows installer, built from the PyInstaller one-folder output.
;
;   .venv\Scripts\pyinstaller packaging\purpose-desktop.spec --noconfirm
;   iscc installer.iss
;
; Installs for the current user only (no administrator rights), adds a Start-menu entry and,
; if chosen, a desktop shortcut. Uninstalling keeps the user's teams, memory and models unless
; they ask for them to be removed.

#define AppName "Purpose Desktop"
#define AppVersion "0.1.0"
#define AppExe "purpose-desktop.exe"
; Where the app keeps its data on Windows (platformdirs' user data directory).
#define DataDir "{localappdata}\purpose-desktop"

[Setup]
AppId={{6B0E3E4A-3F0A-4C61-9A51-0F3C8E2D7B19}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=Purpose Desktop
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=dist\installer
OutputBaseFilename=PurposeDesktop-{#AppVersion}-setup
SetupIconFile=resources\icons\purpose-desktop.ico
UninstallDisplayIcon={app}\{#AppExe}
Compression=lzma2
SolidCompression=yes
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "dist\purpose-desktop\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{group}\Uninstall {#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[Code]
procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  DataDir: String;
begin
  if CurUninstallStep = usPostUninstall then
  begin
    DataDir := ExpandConstant('{#DataDir}');
    if DirExists(DataDir) and not UninstallSilent() then
      if MsgBox('Also delete your teams, memory, run history and models in' + #13#10 + DataDir + '?',
                mbConfirmation, MB_YESNO or MB_DEFBUTTON2) = IDYES then
        DelTree(DataDir, True, True, True);
  end;
end;
