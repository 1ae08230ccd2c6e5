from tests.appsupport import app, client_as, org, session

__all__ = ["app", "client_as", "org", "session"]
