"""Files `booster init` copies into a new project (shipped as package data of booster_cli):
the Solidity templates here and the project files in project/. Read through importlib.resources."""
