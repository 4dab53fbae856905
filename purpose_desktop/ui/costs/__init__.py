"""The Costs pane: tokens, speed and money per run, agent and model, and prices."""
