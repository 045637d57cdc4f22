"""Reminders: working-day calendar, Chinese date/time input, reminder service and dispatcher."""
