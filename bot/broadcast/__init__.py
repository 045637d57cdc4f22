"""Admin announcements: compose, preview, confirm, deliver paced and resumable."""
