"""What identity does, one module per subject: logins (sessions, passwords, resets,
the second factor), staff (accounts and grants), reactions (to the other services'
events), notices (made, claimed, sent, recorded) and the audit trail."""
