"""Support records: one per connected session, filled by the agent, closed at expiry, surveyed."""
