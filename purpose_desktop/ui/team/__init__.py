"""The Team pane: editing a team's agents, models and file."""
