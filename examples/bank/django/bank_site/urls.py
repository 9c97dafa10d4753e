from django.urls import path, re_path

from bank import frontend, views

urlpatterns = [
    path("api/config", views.config),
    path("api/login", views.login),
    path("api/balance", views.balance),
    path("api/transactions", views.transactions),
    path("api/loans", views.loans),
    path("api/loans/summary", views.loan_summary),
    path("api/loans/<int:loan_id>/status", views.loan_status),
    path("api/profile", views.profile),
    path("api/payments", views.payments),
    path("api/simulate", views.simulate),
    re_path(r"^api/", views.no_route),
    re_path(r"^", frontend.serve),
]

handler500 = "bank.views.server_error"
