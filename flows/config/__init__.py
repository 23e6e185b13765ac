"""Configuration resolved once per run: settings, the sources file, schedules."""
