from discflow.cli import main

main()
