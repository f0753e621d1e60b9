"""Documents officers read and sign: directives published on the site, assigned like a module."""
