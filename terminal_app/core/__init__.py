"""UI-free core of the kiosk: domain rules, the application flow, storage, agents, audit.

Nothing below this package imports Kivy; every operation here is called by the CLI and the UI alike.
"""
