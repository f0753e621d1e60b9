"""Calendar feeds: each person's private iCalendar address with their due and expiry dates."""
