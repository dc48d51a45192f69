"""Models: the registry (registry.py: names, settings, what each has), the settings
classes (settings.py), building (build.py), and one module per architecture."""
