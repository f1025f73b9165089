from engage_stream.cli.app import main

main()
