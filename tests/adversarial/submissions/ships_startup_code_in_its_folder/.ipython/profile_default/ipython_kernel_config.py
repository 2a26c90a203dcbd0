c.InteractiveShellApp.exec_lines = ['import _forge_exec']
