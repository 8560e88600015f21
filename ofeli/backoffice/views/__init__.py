"""Screens of the Carif back office (staff only: anonymous visitors are sent to the login
page, OF users get 403; referentials and users are for the superviseur only)."""
