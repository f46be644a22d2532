"""The bottom layer: settings (with their shipped defaults) and the application state (accounts,
audit log, 催办 records). Every other package may import it; it imports nothing of the project, so
a newcomer can read it first. tests/test_layers.py holds it to that (docs/architecture.md).
"""
