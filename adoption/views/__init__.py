"""Blueprints of the core package."""
