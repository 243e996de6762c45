"""Daily and weekly reports for supervisors, computed from call records, tickets and callbacks."""
