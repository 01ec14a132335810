"""Pulse surveys: item bank, rounds, confidential responses, conversations and action plans."""
