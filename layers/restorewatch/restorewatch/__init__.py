"""RestoreWatch: keeps backup restore principals able to restore."""
