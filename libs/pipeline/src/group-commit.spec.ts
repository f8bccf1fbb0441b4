import { GroupCommit } from './group-commit';

describe('GroupCommit', () => {
  it('commits items handed in together as one group, and gives every caller the group’s result', async () => {
    const groups: number[][] = [];
    const group = new GroupCommit<number, string>(
      async (items) => {
        groups.push(items);
        return `committed ${items.length}`;
      },
      3,
      5,
    );
    const results = await Promise.all([group.add(1), group.add(2), group.add(3), group.add(4)]);
    expect(groups).toEqual([[1, 2, 3], [4]]);
    expect(results).toEqual(['committed 3', 'committed 3', 'committed 3', 'committed 1']);
  });

  it('fails every caller of a group whose commit fails', async () => {
    const group = new GroupCommit<number, void>(
      async () => {
        throw new Error('database down');
      },
      10,
      1,
    );
    await expect(Promise.all([group.add(1), group.add(2)])).rejects.toThrow('database down');
    await expect(group.add(3)).rejects.toThrow('database down');
  });
});
