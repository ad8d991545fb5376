"""Portal pages of accounts: sign-in, profile and password, account management (``accounts``), and the
people directory by unit and by search (``directory``, manual 2.3.3–2.3.4)."""
