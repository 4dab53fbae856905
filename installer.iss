; Inno Setup script for the Windows installer, built from the PyInstaller one-folder output.
;
;   .venv\Scripts\pyinstaller packaging\purpose-desktop.spec --noconfirm
;   iscc installer.iss
;
; packaging\build.py runs both steps. Installs for the current user only (no administrator
; rights), adds a Start-menu entry, optionally a desktop shortcut, and (unless unticked) opens
; .gguf model files with the app. Uninstalling keeps the user's teams, memory and models unless
; they ask for them to be removed.
;
; packaging/windows_installer_check.py compiles this script under Wine against a stand-in
; build, installs and uninstalls the result, and checks each of those promises.

#define AppName "Purpose Desktop"
; packaging\build.py passes the package's version (iscc /DAppVersion=...).
#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppExe "purpose-desktop.exe"
; The one-folder build to install and where the installer goes, relative to this file unless
; absolute (iscc /DAppFolder=... /DOutputFolder=...).
#ifndef AppFolder
  #define AppFolder "dist\purpose-desktop"
#endif
#ifndef OutputFolder
  #define OutputFolder "dist\installer"
#endif
; Where the app keeps its data on Windows (platformdirs' user data directory).
#define DataDir "{localappdata}\purpose-desktop"

[Setup]
AppId={{6B0E3E4A-3F0A-4C61-9A51-0F3C8E2D7B19}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=Purpose Desktop
; {autopf}, which is %LOCALAPPDATA%\Programs in a per-user install (see DefaultProgramsFolder).
DefaultDirName={code:DefaultProgramsFolder}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputFolder}
OutputBaseFilename=PurposeDesktop-{#AppVersion}-setup
SetupIconFile=resources\icons\purpose-desktop.ico
UninstallDisplayIcon={app}\{#AppExe}
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
; Tell Explorer about the .gguf association when it is added or removed.
ChangesAssociations=yes

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "ggufassoc"; Description: "Open .gguf model files with {#AppName}"; GroupDescription: "File associations:"

[Registry]
; HKA is the current user's classes in a per-user install (no administrator rights needed).
; A second start with a file hands it to the window already open.
Root: HKA; Subkey: "Software\Classes\.gguf"; Flags: uninsdeletekeyifempty; Tasks: ggufassoc
Root: HKA; Subkey: "Software\Classes\.gguf\OpenWithProgids"; ValueType: string; ValueName: "PurposeDesktop.gguf"; ValueData: ""; Flags: uninsdeletevalue uninsdeletekeyifempty; Tasks: ggufassoc
; A double-click opens .gguf files with the app unless another program already has them (then
; Windows offers both under "Open with"). The uninstaller removes it only while it is still ours.
Root: HKA; Subkey: "Software\Classes\.gguf"; ValueType: string; ValueName: ""; ValueData: "PurposeDesktop.gguf"; Tasks: ggufassoc; Check: GgufUnclaimed
Root: HKA; Subkey: "Software\Classes\PurposeDesktop.gguf"; ValueType: string; ValueName: ""; ValueData: "GGUF language model"; Flags: uninsdeletekey; Tasks: ggufassoc
Root: HKA; Subkey: "Software\Classes\PurposeDesktop.gguf\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"; Tasks: ggufassoc
Root: HKA; Subkey: "Software\Classes\PurposeDesktop.gguf\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""; Tasks: ggufassoc
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".gguf"; ValueData: ""

[Files]
Source: "{#AppFolder}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{group}\Uninstall {#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[Code]
// {autopf}, or where Windows keeps a user's programs by default when the system cannot say (Wine
// has no per-user Program Files folder, and Inno Setup stops on it).
function DefaultProgramsFolder(Param: String): String;
begin
  try
    Result := ExpandConstant('{autopf}');
  except
    if IsAdminInstallMode() then
      RaiseException(GetExceptionMessage());
    Result := ExpandConstant('{localappdata}\Programs');
  end;
end;

// Whether .gguf files are free to open with the app by default (nobody else has them).
function GgufUnclaimed(): Boolean;
var
  Owner: String;
begin
  Result := not RegQueryStringValue(HKA, 'Software\Classes\.gguf', '', Owner)
            or (Owner = '') or (Owner = 'PurposeDesktop.gguf');
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  DataDir, Owner: String;
begin
  if CurUninstallStep = usUninstall then
    if RegQueryStringValue(HKA, 'Software\Classes\.gguf', '', Owner)
       and (Owner = 'PurposeDesktop.gguf') then
      RegDeleteValue(HKA, 'Software\Classes\.gguf', '');
  if CurUninstallStep = usPostUninstall then
  begin
    DataDir := ExpandConstant('{#DataDir}');
    if DirExists(DataDir) and not UninstallSilent() then
      if MsgBox('Also delete your teams, memory, run history and models in' + #13#10 + DataDir + '?',
                mbConfirmation, MB_YESNO or MB_DEFBUTTON2) = IDYES then
        DelTree(DataDir, True, True, True);
  end;
end;
