"""Telling callers before they ask: announcements played on the hotline (holiday
arrangements, weather, a backlog) and proactive notice campaigns to the recipients of parcels
hit by the same exception. Domain code: SQL, no HTTP."""
