"""DRF permissions by role."""

from rest_framework.permissions import BasePermission


class IsStaff(BasePermission):
    message = "Staff only."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class IsAthlete(BasePermission):
    message = "Athletes only."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_athlete)


class IsCoach(BasePermission):
    message = "Coaches only."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_coach)


class IsStaffOrCoach(BasePermission):
    message = "Staff or coaches only."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and (user.is_staff or user.is_coach))
