"""The run and each agent's ReAct loop: choosing, acting, reviewing and scoring."""
