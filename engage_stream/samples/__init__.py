"""Sample CRM data for the demo, tests and load generation."""
