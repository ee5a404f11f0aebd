"""Identity's rules, pure: the password policy, lockout, who may log in as what,
token lifetimes and refresh rules, and what notices say and when."""
