from terminal_app.cli import main

main()
