"""Routes for comments and conversations (S4): see surveys/conversations.py."""
