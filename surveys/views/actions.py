"""Routes for "you said, we did" action plans (S5): see surveys/actions.py."""
