"""The server's HTTP surface, one router module per area: kiosk API, officer, fleet, public.

central_server.app builds the services once and includes these routers; each area's module
only assembles routes from the feature modules (admission, surveys, print codes, regions ...).
"""
