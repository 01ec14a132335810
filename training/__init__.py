"""Training: modules, case studies, knowledge checks, assignments and commitments."""
