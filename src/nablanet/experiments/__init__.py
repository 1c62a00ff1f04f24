"""The chapter's runnable jobs: each module is one ``nablanet run NAME`` command."""
