using Beacon.Contracts.Mastery;
using Beacon.Mastery.Domain;
using Beacon.Mastery.Storage;
using Grpc.Core;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.Mastery.Grpc;

public sealed class MasteryGrpcService(MasteryDbContext db, IOptions<MasteryOptions> options) : Contracts.Mastery.Mastery.MasteryBase
{
    public override async Task<StudentMastery> GetStudentMastery(GetStudentMasteryRequest request, ServerCallContext context)
    {
        var skills = await db.Mastery.AsNoTracking().Where(m => m.StudentId == request.StudentId).ToListAsync(context.CancellationToken);
        var response = new StudentMastery { StudentId = request.StudentId };
        response.Skills.AddRange(skills.OrderBy(s => s.SkillId).Select(s => new SkillMastery
        {
            SkillId = s.SkillId,
            ProbabilityMastered = s.ProbabilityMastered,
            Attempts = s.Attempts,
            Mastered = s.ProbabilityMastered >= options.Value.MasteredAt,
        }));
        return response;
    }
}
