using Beacon.Contracts.Ingestion;
using Beacon.Contracts.Shared;
using Beacon.Ingestion.Domain;
using Beacon.Ingestion.Storage;
using Beacon.ServiceDefaults;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Grpc;

/// <summary>Answers roster questions for other services (gRPC) and, through Apis/RosterApi.cs, for scripts (REST).</summary>
public sealed class RosterGrpcService(IngestionDbContext db) : Roster.RosterBase
{
    [Authorize(Policy = Policies.Staff)]
    public override async Task<Contracts.Ingestion.Student> GetStudent(GetStudentRequest request, ServerCallContext context)
    {
        var student = await db.Students.AsNoTracking().FirstOrDefaultAsync(s => s.StudentId == request.StudentId, context.CancellationToken);
        // A student outside the caller's schools looks exactly like one that does not exist.
        if (student is null || !context.GetHttpContext().User.CanSeeSchool(student.SchoolId))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"Student '{request.StudentId}' is not on the roster."));
        }
        return new Contracts.Ingestion.Student
        {
            StudentId = student.StudentId,
            SchoolId = student.SchoolId,
            GivenName = student.GivenName,
            FamilyName = student.FamilyName,
            GradeLevel = student.GradeLevel,
        };
    }

    [Authorize(Policy = Policies.Staff)]
    public override async Task<ListSchoolCounselorsResponse> ListSchoolCounselors(ListSchoolCounselorsRequest request, ServerCallContext context)
    {
        if (!context.GetHttpContext().User.CanSeeSchool(request.SchoolId))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"School '{request.SchoolId}' is not on the roster."));
        }
        var counselors = await db.Staff.AsNoTracking()
            .Where(s => s.SchoolId == request.SchoolId && s.Role == StaffRoles.Counselor)
            .OrderBy(s => s.StaffId)
            .ToListAsync(context.CancellationToken);
        var response = new ListSchoolCounselorsResponse();
        response.Counselors.AddRange(counselors.Select(s => new Contracts.Shared.StaffMember
        {
            StaffId = s.StaffId,
            SchoolId = s.SchoolId,
            GivenName = s.GivenName,
            FamilyName = s.FamilyName,
            Role = s.Role,
            Email = s.Email,
            Phone = s.Phone ?? "",
        }));
        return response;
    }
}

public sealed class AttendanceHistoryGrpcService(IngestionDbContext db) : AttendanceHistory.AttendanceHistoryBase
{
    [Authorize(Policy = Policies.Staff)]
    public override async Task<GetAttendanceHistoryResponse> GetAttendanceHistory(GetAttendanceHistoryRequest request, ServerCallContext context)
    {
        var since = DateOnly.MinValue;
        if (!string.IsNullOrEmpty(request.Since) && !DateOnly.TryParseExact(request.Since, "yyyy-MM-dd", out since))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"since: '{request.Since}' is not a date in the form yyyy-MM-dd."));
        }
        var schoolId = await db.Students.Where(s => s.StudentId == request.StudentId).Select(s => s.SchoolId).FirstOrDefaultAsync(context.CancellationToken);
        if (!context.GetHttpContext().User.CanSeeSchool(schoolId))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"Student '{request.StudentId}' is not on the roster."));
        }
        var days = await db.Attendance.AsNoTracking()
            .Where(a => a.StudentId == request.StudentId && a.Date >= since)
            .OrderBy(a => a.Date)
            .ToListAsync(context.CancellationToken);
        var response = new GetAttendanceHistoryResponse { StudentId = request.StudentId };
        response.Days.AddRange(days.Select(d => new AttendanceDay { Date = d.Date.ToString("yyyy-MM-dd"), Status = d.Status }));
        return response;
    }
}
