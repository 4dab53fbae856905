@echo off
rem Windows: dist\installer\PurposeDesktop-VERSION-setup.exe (needs Inno Setup 6 on the PATH).
py -3 "%~dp0build.py" %*
