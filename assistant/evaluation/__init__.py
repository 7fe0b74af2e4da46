"""Quality measurement on a gold set, side by side with a naive baseline (`coop eval`)."""
