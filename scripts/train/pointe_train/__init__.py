"""Training code of pointe's demo model set (issue 35): development time only."""
