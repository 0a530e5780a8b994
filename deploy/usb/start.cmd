@echo off
rem Kuager from a USB stick on Windows: "start.cmd" serves the pages; "start.cmd ARGS" runs kuager ARGS.
rem Everything stays in this folder: the store in data\, home and temporary folders in run\ (removed at the end).
setlocal
set "KIT=%~dp0"
set "RUN=%KIT%run\%RANDOM%%RANDOM%"
mkdir "%RUN%\home" "%RUN%\appdata" "%RUN%\localappdata" "%RUN%\tmp" 2>nul
set "USERPROFILE=%RUN%\home"
set "HOME=%RUN%\home"
set "APPDATA=%RUN%\appdata"
set "LOCALAPPDATA=%RUN%\localappdata"
set "TEMP=%RUN%\tmp"
set "TMP=%RUN%\tmp"
if not defined KUAGER_DATA set "KUAGER_DATA=%KIT%data"
if exist "%KIT%tor\tor.exe" set "KUAGER_TOR=%KIT%tor\tor.exe"
if exist "%KIT%age\age.exe" set "PATH=%PATH%;%KIT%age"
if "%~1"=="" (
  "%KIT%kuager.exe" serve
) else (
  "%KIT%kuager.exe" %*
)
set "STATUS=%ERRORLEVEL%"
rmdir /s /q "%RUN%" 2>nul
rmdir "%KIT%run" 2>nul
exit /b %STATUS%
