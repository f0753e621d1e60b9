"""Each person's home page: what needs doing in their role, their own training, and their team."""
