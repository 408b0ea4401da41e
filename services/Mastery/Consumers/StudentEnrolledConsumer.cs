using Beacon.Contracts.Events;
using Beacon.Mastery.Storage;
using MassTransit;

namespace Beacon.Mastery.Consumers;

/// <summary>Keeps Mastery's own copy of who is enrolled where, to group students by school. Upsert: redelivery is harmless.</summary>
public sealed class StudentEnrolledConsumer(MasteryDbContext db) : IConsumer<StudentEnrolled>
{
    public async Task Consume(ConsumeContext<StudentEnrolled> context)
    {
        var message = context.Message;
        var student = await db.Students.FindAsync([message.StudentId], context.CancellationToken)
            ?? db.Students.Add(new EnrolledStudent { StudentId = message.StudentId, SchoolId = message.SchoolId }).Entity;
        student.SchoolId = message.SchoolId;
        student.GivenName = message.GivenName;
        student.FamilyName = message.FamilyName;
        student.GradeLevel = message.GradeLevel;
        await db.SaveChangesAsync(context.CancellationToken);
    }
}
