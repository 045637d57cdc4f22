"""Calendar links: a personal iCalendar feed of a user's reminders, served over HTTP."""
